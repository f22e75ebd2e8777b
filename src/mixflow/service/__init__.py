"""mixflow as a service: a FastAPI app (:func:`mixflow.service.app.create_app`), its settings,
database, API keys and problem responses. Nothing here runs at import."""
