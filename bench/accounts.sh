# Sourced by the bench scripts: creates the benchmark group and one account of
# each kind on the running server at $BIN's bootstrap ($KEYROTOR_BOOTSTRAP),
# and sets AI_KEY, COSMOS_KEY and BATCH_KEY to their primary keys.
create_bench_accounts() {
  "$BIN" group create -n bench -l westus -o none
  "$BIN" account create --kind ai -n bench-ai -g bench -o none
  "$BIN" account create --kind cosmos -n bench-cosmos -g bench -o none
  "$BIN" account create --kind batch -n benchbatch -g bench -o none
  AI_KEY=$("$BIN" keys list -n bench-ai -g bench -o tsv | awk '$1=="key1"{print $3}')
  COSMOS_KEY=$("$BIN" keys list -n bench-cosmos -g bench -o tsv | awk '$1=="primaryMasterKey"{print $3}')
  BATCH_KEY=$("$BIN" keys list -n benchbatch -g bench -o tsv | awk '$1=="primary"{print $3}')
}
