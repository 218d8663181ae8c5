"""The citizen's side over Zalo: client, conversation engine, flows, texts and delivery. Flask-free."""
