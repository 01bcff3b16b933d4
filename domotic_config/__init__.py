"""The platform's configuration: the ground floor every other package may import (it imports none of them)."""
