"""Drop-in shapes of other moderation APIs (Perspective, Akismet, OpenAI moderation).

Pure mapping and shaping only: requests in those APIs' shapes become Civil's inputs, Civil's
scores and decisions become those APIs' answers. The web layer is `service/compat/`.
"""
