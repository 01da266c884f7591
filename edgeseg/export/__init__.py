"""edgeseg.export"""
