"""Each process's settings, composed from what every process shares (:mod:`.common`),
every channel's own (``channels.registry``) and the process's: :mod:`.bot`, :mod:`.worker`;
and the tenants of TENANTS_FILE, each a copy of those with its own accounts and values
(:mod:`.tenants`), found from a conversation id and watched for changes (:mod:`.tenancy`).

Importing these is cheap (no aiogram dispatcher, no ARQ worker), so each process can
check the others' settings at start-up.
"""
