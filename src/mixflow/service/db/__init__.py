"""The service's database: SQLAlchemy models, the session factory and Alembic migrations."""
