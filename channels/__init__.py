"""The messaging platforms batchbot talks to, one folder each, found through one registry.

``registry`` lists the channels (each folder's ``entry``: its settings, intake and
sender); ``base`` and ``outcomes`` are what every channel implements: a sender that
sends a text, a photo, a reply, the typing indicator, within its length limits, and maps
its platform's errors onto the delivery outcomes the worker's one delivery loop
(``worker.delivery``) acts on. ``telegram`` (Business chats included), ``whatsapp``,
``instagram`` and ``messenger`` (the last two over ``meta``'s shared Messenger Platform
code); ``markup`` turns formatting into each platform's; ``proactive`` is the Python API
for messages the backend sends unasked.
"""
