"""Tests for vcd."""
