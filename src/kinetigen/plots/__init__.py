"""kinetigen.plots"""
