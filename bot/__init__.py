"""The Telegram side: receive updates, normalise them, store each in one Redis call.

``app`` wires aiogram's dispatcher (the only package that runs it) with the ``commands``
and batching (``handlers``) routers; ``sender`` says who wrote a message and so its
conversation; ``normalise`` reduces it to the contract; ``webhook`` and ``proactive``
are the HTTP endpoints; ``settings`` the bot's own. Run it with ``python -m bot``.
"""
