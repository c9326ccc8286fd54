# nbgrader for a learner: the course root is the workspace the lab runs in. The instructor's
# configuration (source, release and grading folders) is ../../nbgrader_config.py.
c = get_config()  # noqa: F821 (nbgrader's config loader defines get_config)
