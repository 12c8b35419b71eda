"""Platform adapters. Each module registers its platform with ``bridge.model.platforms.register``."""
