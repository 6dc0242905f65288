"""protocol-bot: answers member/officer relations questions from the council's protocol, cited."""

__version__ = "0.1.0"
