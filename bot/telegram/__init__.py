"""Telegram's intake in the bot: aiogram's dispatcher with the commands and batching
routers, polling or Telegram's webhook, the start-up check of the token. What a Telegram
message is (its author, its content) is ``channels.telegram``'s."""
