"""The Telegram side: receive updates, normalise them, store each in one Redis call.

The only package that imports aiogram's dispatcher. Run it with ``python -m bot``.
"""
