"""The mixflow command line."""

import warnings

# ArviZ announces its coming refactor with a FutureWarning at import, once a day; mixflow pins
# arviz<1, so the banner tells a mixflow user nothing. Silenced here, where the command line
# starts (before anything imports arviz), for that one message only: library users of mixflow
# keep their own warning filters.
warnings.filterwarnings(
    "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
)
