from inclusive_day import create_app

app = create_app()
