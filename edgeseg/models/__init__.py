"""edgeseg.models"""
