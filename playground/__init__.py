# Kept free of imports, so the Django-free packages under playground/ (protocols) load without
# Django. The Celery app is loaded when Django starts, by PlaygroundConfig.ready() (apps.py).
