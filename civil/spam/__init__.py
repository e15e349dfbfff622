"""Spam scoring: a text model plus link, author, velocity, near-duplicate and context signals.

``features`` turns one comment into signals (pure), ``textmodel`` is the shipped hashed n-gram
model, ``scorer`` combines both into one probability with an explanation, and ``reputation``,
``neardup`` and ``velocity`` hold the per-site state that moderators' labels and recent posts
build up. Nothing here imports Flask or Celery.
"""
