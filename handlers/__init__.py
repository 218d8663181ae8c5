"""HTTP only: the webhook, the staff console, public pages, the sandbox and the simulator."""
