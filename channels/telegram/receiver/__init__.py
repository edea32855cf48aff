"""How the Telegram adapter receives: aiogram's dispatcher (the only place that runs it),
polling that confirms only stored updates, or Telegram's webhook (:mod:`.dispatcher`)."""
