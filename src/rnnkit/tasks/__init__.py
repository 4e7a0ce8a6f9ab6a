"""Tasks: one module per task (forecast, classify, tag, lm, translate), each with its config
dataclass (every choice, JSON-able, defaults = its main recipe), a prepare step, ``run_<task>``
and predict. The CLI builds its options from the config dataclasses (:mod:`rnnkit.tasks.options`).

    >>> from rnnkit.tasks.options import option
    >>> option(3, "units").default
    3
"""
