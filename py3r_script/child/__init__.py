"""The child side: what runs outside the driver, and the one contract between the two sides.

``boundary`` defines how parent and child talk (environment variables, payload, outcome,
file names, every launch command, the zygote's and the sentinel's messages); ``bootstrap``
runs a script in a child, with the markers' state in ``session``; ``zygote`` forks warm
children; ``processes`` finds and kills what an iteration started (``procfs`` reads one
process's state, ``sentinel`` kills for a launching process that died). ``frozen`` and
``pickling`` are the light record type and the pickler the boundary is built on,
``unpickling`` loads what a child sent without letting it end the driver, and
``zygotemessages`` holds the warm-start messages the boundary re-exports. Nothing
here imports pandas: every iteration pays for what the child side imports.
"""
