"""kinetigen.validation"""
