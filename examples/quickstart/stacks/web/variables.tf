# The demo (examples/quickstart/demo.sh) overrides this with a terraform.tfvars file that points
# into its own temporary folder.
variable "out_dir" {
  description = "Absolute directory under which this stack writes its files."
  type        = string
  default     = "/tmp/trueup-quickstart"
}
