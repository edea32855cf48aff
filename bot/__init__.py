"""The intake of every channel: receive messages, normalise them, store each in one
Redis call.

``app`` runs every configured channel: aiogram's dispatcher (the only package that runs
it) with the ``commands`` and batching (``handlers``) routers for Telegram, and
``whatsapp``'s webhook for WhatsApp; ``sender`` says who wrote a message and so its
conversation; ``normalise`` reduces a Telegram message to the contract (WhatsApp's is
read in ``channels.whatsapp``); ``webhook`` (Telegram's), ``whatsapp`` and
``proactive`` are the HTTP endpoints; ``settings`` the bot's own. Run it with
``python -m bot``.
"""
