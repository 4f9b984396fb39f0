"""UNICEF Primero v2: child-protection referrals out as cases, cases in as referrals."""

from adapters.primero.adapter import PrimeroAdapter

__all__ = ["PrimeroAdapter"]
