"""The Zalo OA Open API: signature, typed webhook events, message builders and the HTTP client."""
