"""What ties the library to Airflow beyond plain task wiring: the Assets the DAGs exchange, the
triggerer's landing-folder watcher and the failure alert. Cheap to import (the DAG files import
it at parse time): Airflow's own definitions and the standard library only."""
