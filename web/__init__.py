"""The FastAPI application: REST API, auth, websocket hub, console and driver pages."""
