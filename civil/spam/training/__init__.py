"""Training and evaluation of the spam model; imports the inference code, never imported by it."""
