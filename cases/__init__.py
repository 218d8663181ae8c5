"""The PAKN case domain: intake, codes, status words. Flask-free; never imports `bot`."""
