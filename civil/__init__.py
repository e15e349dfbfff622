"""Civil's domain: models, policy, storage. Imports neither Flask nor Celery."""
