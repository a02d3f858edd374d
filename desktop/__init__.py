"""The Qt desktop app and the Qt-free command line. Only this package may import Qt."""
