"""kinetigen: dynamically valid kinetic models of metabolism, generated at scale."""

__version__ = "0.1.0"
