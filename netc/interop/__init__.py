"""Running netc graphs in other frameworks: the references tests and benchmarks compare against."""


class Unsupported(Exception):
    """This graph uses an op or attribute that the other framework's runner has no rule for here."""
