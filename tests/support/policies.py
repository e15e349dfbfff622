"""Policies tests share."""

# The default reject thresholds before auto-reject was narrowed to severe harm: what sites
# created then stored, and what a site that wants the old behaviour sets.
EARLIER_REJECT = {
    "toxicity": 0.92,
    "severe_toxicity": 0.60,
    "obscene": 0.95,
    "threat": 0.80,
    "insult": 0.92,
    "identity_attack": 0.80,
}
