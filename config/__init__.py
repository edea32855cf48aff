"""Each process's settings, composed from what every process shares (:mod:`.common`),
every channel's own (``channels.registry``) and the process's: :mod:`.bot`, :mod:`.worker`.

Importing these is cheap (no aiogram dispatcher, no ARQ worker), so each process can
check the others' settings at start-up.
"""
