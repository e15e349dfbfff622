"""The moderators' work: the review queue, claims, actions, the review page, accounts."""
