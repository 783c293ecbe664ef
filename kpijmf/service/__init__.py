"""The named steps between the CLI and the layers below: select → ensure data → load → compare.

`Workspace` holds the settings, the store and a lazily built Kolada client for one command or library call;
`sync` brings the store up to date (plan → fetch → write); `runner` carries out run files. It may import
every layer but `kpijmf.cli`, and is how the CLI reaches the store and Kolada.
"""
