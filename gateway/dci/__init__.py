"""DCI civil registries: subscriptions to their live births, and their notices as exchanges."""
