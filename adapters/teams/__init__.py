"""Microsoft Teams: questions in chat answered with cited clauses on Adaptive Cards.

Layout (only `bf` imports botbuilder, so a move to the Microsoft 365 Agents SDK touches one file):

- `cards`: Answer / ticket -> Adaptive Card dicts and plain-text summaries (pure functions)
- `activities`: Bot Framework activity dicts -> who asked, what, where to reply (pure functions)
- `bot`: what the bot does with an incoming activity (dict in, reply dicts out), no SDK
- `bf`: botbuilder's CloudAdapter, authentication, the HTTP handler, proactive delivery
- `app`: `mount(app, conversation)` for the shared aiohttp server
- `cli`: `protocol-bot teams-package` and `protocol-bot doctor`
"""
