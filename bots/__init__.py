"""Platform adapters. Each module registers its platform with ``bridge.platforms.register``."""
