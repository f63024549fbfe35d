"""The `opentrons.*` node types, each declared once: `base` holds what they share,
`liquid_handling` and `modules` the types themselves (listed in SDL_NODE_TYPE_MODULES)."""
