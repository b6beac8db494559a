"""Dispatch: trip requests -> least-cost plans with pool and leased cars (OR-Tools)."""
