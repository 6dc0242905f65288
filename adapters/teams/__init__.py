"""Microsoft Teams: questions in chat answered with cited clauses on Adaptive Cards (only `bf` imports botbuilder)."""
