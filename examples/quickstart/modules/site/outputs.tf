output "dir" {
  description = "The folder holding the site's files."
  value       = local.dir
}

output "files" {
  description = "The files the site manages."
  value       = [local_file.index_html.filename, local_file.config_json.filename]
}
