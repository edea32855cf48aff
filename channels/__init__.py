"""The messaging platforms batchbot talks to, one module each, behind one small interface.

A channel's sender (:class:`channels.base.ChannelSender`) knows how to send a text, a
photo, a reply, the typing indicator, its length limits, and how its errors map onto
the outcomes in :mod:`channels.outcomes`; the worker's one delivery loop
(``worker.delivery``) does the rest. ``telegram`` and ``whatsapp`` today; a third
channel is a module beside them (README: "Adding a channel").
"""
