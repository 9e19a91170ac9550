"""The child side: what runs outside the driver, and the one contract between the two sides.

``boundary`` defines how parent and child talk (environment variables, payload, outcome,
file names, launch commands, zygote messages); ``bootstrap`` runs a script in a child;
``zygote`` forks warm children; ``processes`` finds and kills what an iteration started.
Nothing here imports pandas: every iteration pays for what the child side imports.
"""
