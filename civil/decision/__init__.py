"""The decision: facts about a comment, rules, a site's policy, the pipeline that records it."""
